"""The payments bounded context: transfers between accounts, driven by a saga."""

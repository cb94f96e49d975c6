"""`paystream top`: the live terminal view of the services' /metrics and /readyz."""

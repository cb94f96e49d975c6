"""The accounts bounded context: accounts that hold money in one currency."""

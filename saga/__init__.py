"""The payment saga worker: drives each payment to completed or failed."""

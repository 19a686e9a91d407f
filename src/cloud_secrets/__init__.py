"""cloud-secrets: detection engineering for credential access in cloud secret stores (T1555.006)."""

__version__ = "0.4.0"

"""Object storage (S3, MinIO or any S3-compatible store) through boto3: where cameras drop footage
(the landing prefix), the ledger of what was processed, and the archive."""

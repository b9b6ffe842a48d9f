# MLflow tracking server with the Postgres driver and boto3 (artifacts proxied to S3).
FROM ghcr.io/mlflow/mlflow:v3.17.2
RUN pip install --no-cache-dir psycopg2-binary==2.9.11 boto3==1.43.117

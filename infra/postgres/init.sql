-- One Postgres, two databases: Prefect's and MLflow's backend store.
CREATE DATABASE prefect;
CREATE DATABASE mlflow;

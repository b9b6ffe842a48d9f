"""The pipeline's steps as library functions over the project's file layout (paths from params).
Orchestration (Prefect tasks and flows, DVC stages) wraps these; nothing here knows about either."""

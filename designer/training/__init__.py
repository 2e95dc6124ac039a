"""Training configuration, data sources, run folders and the worker process. Qt-free."""

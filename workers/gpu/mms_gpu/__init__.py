"""The GPU worker of MMS: a Python Temporal worker on task queue mms-gpu (see worker.py)."""

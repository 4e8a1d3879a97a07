"""Uploads: form (``form``), resumable protocol calls (``resumable``), pure part planning
(``parts``), the serialisable resume state (``state``) and the driver (``uploader``)."""

"""IMS Atlas: from an IMS extract to a published, disclosure-controlled drop."""

__version__ = "0.1.0"

"""hhbatch: turn a spreadsheet into a batch of AI videos on the HappyHorse Customer API."""

__version__ = "0.1.0"

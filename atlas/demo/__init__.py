"""The bundled demo: a fictional geography (``geography``), a realistic fake IMS extract
(``extract``, ``ims-atlas demo-data``) and fictional candidate pharmacies (``candidates``)."""

"""The reference of bench/api_create.py: the least a django-ninja endpoint that stores a row
does (one INSERT, no authentication, no middleware but CommonMiddleware), served the same way
as Firstline, so that the cost of the framework and the server can be told from Firstline's.
"""

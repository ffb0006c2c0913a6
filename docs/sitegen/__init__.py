"""The code that generates the documentation site's pages from the code (see ``hooks``)."""

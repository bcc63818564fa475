"""From a template version and a contact to the bytes of a finished mail (see ``compiled`` and ``mime``)."""

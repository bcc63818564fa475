"""Ways a finished mail leaves Tokui: SMTP (``email``) or an ESP through django-anymail (``esp``)."""

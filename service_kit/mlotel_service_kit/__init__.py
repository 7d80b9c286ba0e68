"""What mlotel's FastAPI services (the model server, the alert-rule service) share, so
that their errors, docs pages and limits behave alike:

- ``api_errors``: every error as JSON that says what is wrong and never echoes the input;
- ``api_docs``: ``/docs`` and ``/redoc`` served with their assets, working offline;
- ``body_limit``: the one body size limit, a middleware answering with the JSON 413.

The clients of the stack's backends are elsewhere (``mlotel_backends``): the model
server needs none of them.
"""

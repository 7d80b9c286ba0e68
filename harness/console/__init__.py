"""The console's pages through Streamlit's AppTest: backend answers recorded from the real stack
(``recording``) and what a person sees of a page (``seen``)."""

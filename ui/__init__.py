"""What the pages share: the i18n table, URL state, the sidebar, plotting helpers. May import Streamlit."""

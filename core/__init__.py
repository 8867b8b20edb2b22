"""Pure PyTorch/numpy building blocks of the teaching app. Never imports Streamlit."""

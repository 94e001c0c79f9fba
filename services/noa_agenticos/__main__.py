"""``python -m noa_agenticos``: serve agenticos on 0.0.0.0:$AGENTICOS_PORT."""

from noa_common.server import serve

if __name__ == "__main__":
    serve("agenticos", "noa_agenticos.app:create_app")

"""``python -m noa_flow``: serve claude-flow on 0.0.0.0:$CLAUDE_FLOW_PORT."""

from noa_common.server import serve

if __name__ == "__main__":
    serve("claude-flow", "noa_flow.app:create_app")

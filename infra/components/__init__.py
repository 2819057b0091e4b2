"""One construct per concern; ``infra/stack.py`` assembles them and wires the grants."""

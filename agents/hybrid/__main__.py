from agents.hybrid import SPEC
from shared.runner import entrypoint

entrypoint(SPEC)

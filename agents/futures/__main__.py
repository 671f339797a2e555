from agents.futures import SPEC
from shared.runner import entrypoint

entrypoint(SPEC)

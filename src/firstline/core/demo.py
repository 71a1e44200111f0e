"""Demo data for `make run`: a small MSP with three client organizations."""

DEMO_PASSWORD = "firstline-demo"


def load_demo_data(*, stdout) -> list[tuple[str, str]]:
    raise NotImplementedError

"""What more than one test module builds or checks with: scenarios, runs, hand-made logs, generated scenarios
and their invariants, and the terminal app's pilot harnesses. Imported as `helpers.<topic>` (pyproject.toml
puts tests/ on the path), from any folder of tests/."""

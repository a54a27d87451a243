"""Run notebooks with papermill and write an HTML copy of each (the report's shell)."""

from __future__ import annotations

from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"


def run_notebook(notebook: str | Path, output_dir: str | Path, parameters: dict | None = None) -> Path:
    """Execute ``notebook`` under papermill into ``output_dir`` and export HTML without code.

    Returns the executed notebook's path. Raises papermill's ``PapermillExecutionError``
    when a cell fails (the partly executed notebook is still written, for inspection).
    """
    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    notebook = Path(notebook)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    out_nb = output_dir / notebook.name
    pm.execute_notebook(str(notebook), str(out_nb), parameters=parameters or {}, kernel_name="python3",
                        cwd=str(notebook.parent), progress_bar=False)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nbformat.read(str(out_nb), as_version=4))
    out_nb.with_suffix(".html").write_text(body, encoding="utf-8")
    return out_nb

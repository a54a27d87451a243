"""`actuarial report` runs the product-terms notebook under papermill and writes HTML."""

import json
import subprocess
import sys

import nbformat


def test_report_runs_the_notebook_end_to_end(tmp_path):
    run = subprocess.run([sys.executable, "-m", "actuarial.cli", "report", "--output", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    nb = nbformat.read(str(tmp_path / "01_product_terms.ipynb"), as_version=4)
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "payout        :      840,000 yen" in text
    assert "refunds equal: True, ratios equal: True" in text
    html = (tmp_path / "01_product_terms.html").read_text(encoding="utf-8")
    assert "data:image/png;base64" in html and "from actuarial import" not in html  # figures, no code
    assert (tmp_path / "01_fee_curve_fit.csv").read_text().startswith("months_elapsed,published_yen")
    tagged = [c for c in json.loads((tmp_path / "01_product_terms.ipynb").read_text())["cells"]
              if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1

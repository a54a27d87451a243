"""Actuarial workbench for Japanese rent-guarantee and mortgage-guarantee businesses.

The package is the tested core every notebook imports:

- :mod:`actuarial.products` -- the exact contract math of the three source documents
  (JHF rent-debt-guarantee insurance, mortgage guarantee fee and refund, rent guarantee plans);
- :mod:`actuarial.params` -- validated scenario files from ``params/*.yaml``.

See ARCHITECTURE.md for the map.
"""

__version__ = "0.1.0"

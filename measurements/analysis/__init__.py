"""Pure-Python analysis of electrolyte measurements (no Django imports).

Modules: eis, conductivity, arrhenius, transference, lsv, ccd, cycling, mechanical, tga, synthetic.
Every result dataclass carries ``method`` and ``version`` (the module's METHOD_VERSION) so a stored
derived property records how it was computed.
"""

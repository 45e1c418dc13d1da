"""The domain's messages in the lab's words, for people (pages and the editors' live previews).

The composition functions (formulations.domain) name what their caller must supply: "enter density_g_per_mL",
the name of their input. A person records the density on the chemical's page; these rewrites say so. Scripts
using the API get the domain's message unchanged.
"""

from __future__ import annotations

REWRITES: tuple[tuple[str, str], ...] = (
    (
        "; enter density_g_per_mL for it",
        "; record the chemical's density (g/mL) on its page, then the slurry density can be estimated",
    ),
    (
        "; enter density_g_per_mL to convert volume to mass",
        "; record the chemical's density (g/mL) on its page, then a volume can be converted",
    ),
)


def in_lab_words(text: str) -> str:
    for domain_words, lab_words in REWRITES:
        text = text.replace(domain_words, lab_words)
    return text

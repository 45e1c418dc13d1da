"""CAS Registry Numbers: the check digit and the accepted spellings (pure domain code, no database)."""

import pytest

from formulations.domain.cas import CasNumberError, cas_check_digit, is_valid_cas, normalise_cas


def test_the_check_digit_of_water_is_the_weighted_digit_sum_modulo_ten():
    """7732-18-5: 7x6 + 7x5 + 3x4 + 2x3 + 1x2 + 8x1 = 105, and 105 mod 10 = 5."""
    assert cas_check_digit("773218") == 5


@pytest.mark.parametrize(
    "cas",
    [
        "171611-11-3",  # LiFSI
        "143-24-8",  # tetraglyme
        "79-41-4",  # methacrylic acid
        "80-62-6",  # methyl methacrylate
        "3887-02-3",  # N-methylmethacrylamide
        "7473-98-5",  # HMPP
        "872-50-4",  # NMP
        "7439-93-2",  # lithium
        "15365-14-7",  # LiFePO4
        "50-00-0",  # formaldehyde: a zero check digit
    ],
)
def test_the_cas_numbers_of_the_papers_chemicals_are_valid(cas):
    assert is_valid_cas(cas)
    assert normalise_cas(cas) == cas


def test_a_wrong_check_digit_is_refused_with_the_digit_it_should_be():
    with pytest.raises(CasNumberError, match="check digit should be 8, not 9"):
        normalise_cas("143-24-9")


@pytest.mark.parametrize("text", ["", "abc", "143-24", "1-24-8", "143_24_8", "12345678-12-1", "143-2-48"])
def test_malformed_cas_numbers_are_refused(text):
    assert not is_valid_cas(text)


def test_blanks_leading_zeros_and_a_missing_hyphenation_are_normalised():
    assert normalise_cas("  7732-18-5 ") == "7732-18-5"
    assert normalise_cas("7732185") == "7732-18-5"
    assert normalise_cas("0007732-18-5") == "7732-18-5"

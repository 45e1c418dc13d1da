from django import template

from formulations.wording import in_lab_words

register = template.Library()
register.filter("in_lab_words", in_lab_words, is_safe=False)

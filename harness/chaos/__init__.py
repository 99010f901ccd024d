"""``amtsweg chaos``: kill every part of Amtsweg under load, then check nothing was lost."""

"""Icons, styles and example projects shipped with the designer."""

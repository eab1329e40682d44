"""Start LongWriter Studio in the browser: ``python app.py`` (same as ``longwriter app``)."""

from ui.app import main

if __name__ == "__main__":
    main()

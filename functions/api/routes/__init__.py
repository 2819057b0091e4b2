"""The API's routes, one Powertools ``Router`` per resource; ``functions/api/app.py`` includes them."""

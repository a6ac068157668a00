"""The Alembic migrations (env.py, versions/), shipped inside the package so that an installed
carecircle can migrate its database; bot.db.migrate finds them with importlib.resources."""

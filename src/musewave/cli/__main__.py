from musewave.cli import app

app()

from scut.cli.main import app

app()

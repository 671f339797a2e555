from shared.health.cli import main

main()

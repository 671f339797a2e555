from shared.fleet.cli import main

main()

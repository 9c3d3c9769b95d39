from gwanje.cli import main

main()

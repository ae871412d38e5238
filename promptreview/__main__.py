from promptreview.cli import main

main()

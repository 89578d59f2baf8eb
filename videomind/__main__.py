from videomind.cli.main import main

raise SystemExit(main())

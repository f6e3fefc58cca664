from trinity_beast.cli import main

raise SystemExit(main())

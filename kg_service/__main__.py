import sys

from kg_service.cli import main

sys.exit(main())

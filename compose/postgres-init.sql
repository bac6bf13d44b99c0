-- One database per village node; each node owns its schema through its own migrations.
CREATE DATABASE luetjenholm OWNER allmende;
CREATE DATABASE bredstedt OWNER allmende;
CREATE DATABASE struckum OWNER allmende;

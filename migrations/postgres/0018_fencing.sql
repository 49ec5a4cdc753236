-- Cluster mode (issue #17): fencing. Every turn write carries its writer's fencing token (the
-- generation of its ownership lease in Redis, growing with every new owner). `interviews.fence`
-- is the highest token a turn write of the interview carried; a write with a lower one is
-- refused, so an owner that lost its lease (paused, partitioned) cannot write once the new
-- owner has. `turns.fence` records which owner wrote each turn.
ALTER TABLE interviews ADD COLUMN fence bigint NOT NULL DEFAULT 0;
ALTER TABLE turns ADD COLUMN fence bigint NOT NULL DEFAULT 0;

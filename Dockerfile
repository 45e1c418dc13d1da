FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.lock .
RUN pip install uv && uv pip install --system -r requirements.lock
COPY . .
EXPOSE 8000
